//! MemoryDB clusters backed by a real Redis server: the ACL's users log in with their
//! passwords, are held to their access strings, and lose access when rotated, removed
//! or deleted.
//!
//! These tests need `redis-server` (Debian's package) on PATH. Without it they are
//! skipped with a message, unless `TEST_REQUIRE_REDIS=1` (as CI sets), which makes
//! its absence a failure.

mod common;

use aws_sdk_memorydb::Client;
use aws_sdk_memorydb::error::ProvideErrorMetadata;
use aws_sdk_memorydb::types::{AuthenticationMode, InputAuthenticationType};
use common::{create_password_user, memorydb};
use memshift::Config;

/// The login was refused (wrong password, unknown or disabled user).
fn refused(result: Result<String, String>) -> bool {
    matches!(result, Err(e) if e.contains("AuthenticationFailed"))
}

fn redis_available() -> bool {
    let ca = std::sync::Arc::new(memshift::tls::Authority::generate().unwrap());
    let found = memshift::engines::redis::Redis::new(None, ca, std::sync::Arc::default())
        .binary()
        .is_some();
    if !found {
        assert!(
            std::env::var_os("TEST_REQUIRE_REDIS").is_none(),
            "TEST_REQUIRE_REDIS is set but no redis-server is on PATH"
        );
        eprintln!("skipped: no redis-server on PATH (apt-get install redis-server)");
    }
    found
}

/// The CA each endpoint port's certificate is signed by, as its memshift served it.
static TRUSTED: std::sync::Mutex<Vec<(u16, Vec<u8>)>> = std::sync::Mutex::new(Vec::new());

/// Trusts memshift's CA for the endpoints on `port` from now on.
async fn trust(server_url: &str, port: u16) {
    let pem = reqwest::get(format!("{server_url}/_memshift/ca.pem"))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    TRUSTED.lock().unwrap().push((port, pem));
}

/// A client of the endpoint on `port`, over TLS with memshift's CA when one was trusted
/// for it, as an application connects to MemoryDB.
fn client_for(port: u16, login: Option<(&str, &str)>) -> Result<redis::Client, String> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = TRUSTED
        .lock()
        .unwrap()
        .iter()
        .rev()
        .find(|(p, _)| *p == port)
        .map(|(_, pem)| pem.clone());
    let scheme = if ca.is_some() { "rediss" } else { "redis" };
    let url = match login {
        Some((user, pass)) => format!("{scheme}://{user}:{pass}@127.0.0.1:{port}/"),
        None => format!("{scheme}://127.0.0.1:{port}/"),
    };
    match ca {
        Some(root_cert) => redis::Client::build_with_tls(
            url,
            redis::TlsCertificates {
                client_tls: None,
                root_cert: Some(root_cert),
            },
        ),
        None => redis::Client::open(url),
    }
    .map_err(|e| e.to_string())
}

/// Logs in as `user` (or as nobody) and runs one command.
fn run(port: u16, login: Option<(&str, &str)>, args: &[&str]) -> Result<String, String> {
    let client = client_for(port, login)?;
    let mut conn = client.get_connection().map_err(|e| e.to_string())?;
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    let value: redis::Value = cmd.query(&mut conn).map_err(|e| e.to_string())?;
    Ok(match value {
        redis::Value::Okay => "OK".to_owned(),
        redis::Value::SimpleString(s) => s,
        redis::Value::BulkString(b) => String::from_utf8_lossy(&b).into_owned(),
        redis::Value::Nil => "(nil)".to_owned(),
        other => format!("{other:?}"),
    })
}

async fn create_cluster(url: &str, client: &Client, name: &str, acl: &str) -> u16 {
    let out = client
        .create_cluster()
        .cluster_name(name)
        .node_type("db.t4g.small")
        .acl_name(acl)
        .send()
        .await
        .unwrap();
    let cluster = out.cluster().unwrap();
    assert_eq!(cluster.status(), Some("creating"));
    let endpoint = cluster.cluster_endpoint().unwrap();
    assert_eq!(endpoint.address(), Some("127.0.0.1"));
    let port = u16::try_from(endpoint.port()).unwrap();
    if cluster.tls_enabled() == Some(true) {
        trust(url, port).await;
    }
    port
}

/// An ACL holding `user`, and a cluster using it; answers the cluster's port.
async fn acl_with_cluster(url: &str, client: &Client, acl: &str, user: &str, cluster: &str) -> u16 {
    client
        .create_acl()
        .acl_name(acl)
        .user_names(user)
        .send()
        .await
        .unwrap();
    create_cluster(url, client, cluster, acl).await
}

async fn set_passwords(client: &Client, user: &str, passwords: &[&str]) {
    let mut mode = AuthenticationMode::builder().r#type(InputAuthenticationType::Password);
    for p in passwords {
        mode = mode.passwords(*p);
    }
    client
        .update_user()
        .user_name(user)
        .authentication_mode(mode.build())
        .send()
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn acl_users_log_in_and_are_held_to_their_access_strings() {
    if !redis_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = memorydb(&server);
    create_password_user(
        &client,
        "app",
        "first-password-0001",
        "on ~app:* +@read +@write",
    )
    .await;
    client
        .update_user()
        .user_name("app")
        .authentication_mode(
            AuthenticationMode::builder()
                .r#type(InputAuthenticationType::Password)
                .passwords("first-password-0001")
                .passwords("second-password-002")
                .build(),
        )
        .send()
        .await
        .unwrap();
    let port = acl_with_cluster(&server.url(), &client, "team", "app", "orders").await;

    // The cluster is available, its ACL lists it, and the endpoint is the same.
    let described = client
        .describe_clusters()
        .cluster_name("orders")
        .show_shard_details(true)
        .send()
        .await
        .unwrap();
    let cluster = &described.clusters()[0];
    assert_eq!(cluster.status(), Some("available"));
    assert_eq!(cluster.acl_name(), Some("team"));
    assert_eq!(cluster.cluster_endpoint().unwrap().port(), i32::from(port));
    assert_eq!(cluster.shards().len(), 1);
    let acl = client
        .describe_acls()
        .acl_name("team")
        .send()
        .await
        .unwrap();
    assert_eq!(acl.acls()[0].clusters(), ["orders"]);

    // Each of the two passwords logs in; commands inside the access string work.
    let first = Some(("app", "first-password-0001"));
    let second = Some(("app", "second-password-002"));
    assert_eq!(
        run(port, first, &["SET", "app:greeting", "hello"]).unwrap(),
        "OK"
    );
    assert_eq!(
        run(port, second, &["GET", "app:greeting"]).unwrap(),
        "hello"
    );
    // Outside it: NOPERM, for keys and for commands.
    let err = run(port, first, &["SET", "billing:total", "1"]).unwrap_err();
    assert!(err.to_uppercase().contains("NOPERM"), "{err}");
    let err = run(port, first, &["CLIENT", "LIST"]).unwrap_err();
    assert!(err.to_uppercase().contains("NOPERM"), "{err}");
    // What MemoryDB restricts is unknown to every user.
    let err = run(port, first, &["CONFIG", "GET", "port"]).unwrap_err();
    assert!(err.contains("unknown command 'CONFIG'"), "{err}");
    // A wrong password does not log in, and neither does the default user.
    let err = run(
        port,
        Some(("app", "not-the-password")),
        &["GET", "app:greeting"],
    )
    .unwrap_err();
    assert!(err.contains("AuthenticationFailed"), "{err}");
    let err = run(port, None, &["GET", "app:greeting"]).unwrap_err();
    assert!(err.to_uppercase().contains("NOAUTH"), "{err}");

    losing_access(&client, port).await;

    // The ACL is in use; the cluster's deletion stops its server.
    let err = client
        .delete_acl()
        .acl_name("team")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("InvalidACLStateFault"));
    let deleted = client
        .delete_cluster()
        .cluster_name("orders")
        .send()
        .await
        .unwrap();
    assert_eq!(deleted.cluster().unwrap().status(), Some("deleting"));
    let err = run(port, None, &["PING"]).unwrap_err();
    assert!(
        !err.to_uppercase().contains("NOAUTH"),
        "the server still answers: {err}"
    );
    client.delete_acl().acl_name("team").send().await.unwrap();
    server.shutdown().await.unwrap();
}

/// Rotation, a narrower access string, removal from the ACL and deletion each reach the
/// server before the call is answered.
async fn losing_access(client: &Client, port: u16) {
    let first = Some(("app", "first-password-0001"));
    let second = Some(("app", "second-password-002"));
    // Rotation: the old passwords stop working, the new one works.
    set_passwords(client, "app", &["third-password-0003"]).await;
    assert!(refused(run(port, first, &["GET", "app:greeting"])));
    assert!(refused(run(port, second, &["GET", "app:greeting"])));
    let third = Some(("app", "third-password-0003"));
    assert_eq!(run(port, third, &["GET", "app:greeting"]).unwrap(), "hello");

    // A new access string applies at once.
    client
        .update_user()
        .user_name("app")
        .access_string("on ~app:* +@read")
        .send()
        .await
        .unwrap();
    assert!(
        run(port, third, &["SET", "app:greeting", "bye"])
            .unwrap_err()
            .to_uppercase()
            .contains("NOPERM")
    );
    assert_eq!(run(port, third, &["GET", "app:greeting"]).unwrap(), "hello");

    // Removed from the ACL: no login. Back in it: login again.
    client
        .update_acl()
        .acl_name("team")
        .user_names_to_remove("app")
        .send()
        .await
        .unwrap();
    assert!(refused(run(port, third, &["GET", "app:greeting"])));
    client
        .update_acl()
        .acl_name("team")
        .user_names_to_add("app")
        .send()
        .await
        .unwrap();
    assert_eq!(run(port, third, &["GET", "app:greeting"]).unwrap(), "hello");

    // Deleted: no login.
    client.delete_user().user_name("app").send().await.unwrap();
    assert!(refused(run(port, third, &["GET", "app:greeting"])));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_default_user_follows_the_acl() {
    if !redis_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = memorydb(&server);
    // open-access: the default user needs no password.
    let port = create_cluster(&server.url(), &client, "open", "open-access").await;
    assert_eq!(run(port, None, &["SET", "k", "v"]).unwrap(), "OK");
    assert_eq!(run(port, None, &["GET", "k"]).unwrap(), "v");

    // Moved to an ACL without `default`: the default user is off; the ACL's user works.
    create_password_user(&client, "svc", "svc-password-000001", "on ~* +@all").await;
    client
        .create_acl()
        .acl_name("locked")
        .user_names("svc")
        .send()
        .await
        .unwrap();
    let updated = client
        .update_cluster()
        .cluster_name("open")
        .acl_name("locked")
        .send()
        .await
        .unwrap();
    assert_eq!(updated.cluster().unwrap().acl_name(), Some("locked"));
    assert!(
        run(port, None, &["GET", "k"])
            .unwrap_err()
            .to_uppercase()
            .contains("NOAUTH")
    );
    assert_eq!(
        run(port, Some(("svc", "svc-password-000001")), &["GET", "k"]).unwrap(),
        "v"
    );
    let open = client
        .describe_acls()
        .acl_name("open-access")
        .send()
        .await
        .unwrap();
    assert!(open.acls()[0].clusters().is_empty());

    // Errors of the cluster operations.
    let err = client
        .create_cluster()
        .cluster_name("open")
        .node_type("db.t4g.small")
        .acl_name("locked")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ClusterAlreadyExistsFault"));
    let err = client
        .create_cluster()
        .cluster_name("other")
        .node_type("db.t4g.small")
        .acl_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ACLNotFoundFault"));
    let err = client
        .describe_clusters()
        .cluster_name("ghost")
        .send()
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("ClusterNotFoundFault"));
    server.shutdown().await.unwrap();
    // Shutdown stops the servers.
    assert!(run(port, None, &["PING"]).is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn clusters_come_back_with_their_users_after_a_restart() {
    if !redis_available() {
        return;
    }
    let dir = common::temp_dir("redis-restart");
    let config = Config {
        data_dir: Some(dir.path().join("data")),
        ..Config::ephemeral().with_engines()
    };
    let server = memshift::start(&config).await.unwrap();
    let client = memorydb(&server);
    create_password_user(&client, "keeper", "keeper-password-001", "on ~* +@all").await;
    let port = acl_with_cluster(&server.url(), &client, "keep", "keeper", "durable").await;
    assert_eq!(
        run(port, Some(("keeper", "keeper-password-001")), &["PING"]).unwrap(),
        "PONG"
    );
    server.shutdown().await.unwrap();
    assert!(run(port, Some(("keeper", "keeper-password-001")), &["PING"]).is_err());

    let server = memshift::start(&config).await.unwrap();
    let client = memorydb(&server);
    let described = client
        .describe_clusters()
        .cluster_name("durable")
        .send()
        .await
        .unwrap();
    let endpoint = described.clusters()[0].cluster_endpoint().unwrap();
    let port = u16::try_from(endpoint.port()).unwrap();
    trust(&server.url(), port).await;
    assert_eq!(
        run(port, Some(("keeper", "keeper-password-001")), &["PING"]).unwrap(),
        "PONG"
    );
    assert!(run(port, None, &["PING"]).is_err());
    server.shutdown().await.unwrap();
}

mod iam {
    use std::time::{Duration, SystemTime};

    use aws_sdk_memorydb::types::{AuthenticationMode, InputAuthenticationType};
    use aws_sigv4::http_request::{
        SignableBody, SignableRequest, SignatureLocation, SigningSettings, sign,
    };
    use aws_sigv4::sign::v4;
    use memshift::Config;

    use super::{acl_with_cluster, redis_available};

    const KEY: &str = "AKIAMEMSHIFTIAM00001";
    const SECRET: &str = "iam-token-test-secret/0123456789";

    /// A MemoryDB IAM token, built as AWS's documentation shows: a presigned
    /// `GET http://<cluster>/?Action=connect&User=<user>`, without its scheme.
    fn token(cluster: &str, user: &str, secret: &str, time: SystemTime) -> String {
        let identity = aws_credential_types::Credentials::new(KEY, secret, None, None, "t").into();
        let mut settings = SigningSettings::default();
        settings.signature_location = SignatureLocation::QueryParams;
        settings.expires_in = Some(Duration::from_mins(15));
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region("us-east-1")
            .name("memorydb")
            .time(time)
            .settings(settings)
            .build()
            .unwrap()
            .into();
        let url = format!("http://{cluster}/?Action=connect&User={user}");
        let request =
            SignableRequest::new("GET", &url, std::iter::empty(), SignableBody::Bytes(b""))
                .unwrap();
        let (instructions, _) = sign(request, &params).unwrap().into_parts();
        let mut request = axum::http::Request::builder().uri(&url).body(()).unwrap();
        instructions.apply_to_request_http1x(&mut request);
        request
            .uri()
            .to_string()
            .trim_start_matches("http://")
            .to_owned()
    }

    /// AUTH with a token, then one command on the same connection.
    fn run_with_token(port: u16, user: &str, token: &str, args: &[&str]) -> Result<String, String> {
        let client = super::client_for(port, None).unwrap();
        let mut conn = client.get_connection().map_err(|e| e.to_string())?;
        redis::cmd("AUTH")
            .arg(user)
            .arg(token)
            .query::<()>(&mut conn)
            .map_err(|e| e.to_string())?;
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query::<String>(&mut conn).map_err(|e| e.to_string())
    }

    /// `HELLO 2 AUTH <user> <token>` is checked as `AUTH` is.
    fn hello_is_checked_too(port: u16, good: &str, forged: &str) {
        // HELLO with AUTH is checked the same way.
        let client = super::client_for(port, None).unwrap();
        let mut conn = client.get_connection().unwrap();
        let hello: Result<redis::Value, _> = redis::cmd("HELLO")
            .arg(2)
            .arg("AUTH")
            .arg("iam-app")
            .arg(good)
            .query(&mut conn);
        assert!(hello.is_ok(), "{hello:?}");
        let mut conn = client.get_connection().unwrap();
        let hello: Result<redis::Value, _> = redis::cmd("HELLO")
            .arg(2)
            .arg("AUTH")
            .arg("iam-app")
            .arg(forged)
            .query(&mut conn);
        assert!(hello.is_err());
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn iam_users_log_in_with_valid_tokens_only() {
        if !redis_available() {
            return;
        }
        let dir = super::common::temp_dir("iam");
        let keys = dir.path().join("keys.json");
        std::fs::write(
            &keys,
            format!(r#"[{{"access_key_id":"{KEY}","secret_access_key":"{SECRET}"}}]"#),
        )
        .unwrap();
        let server = memshift::start(&Config {
            credentials_file: Some(keys),
            verify_sigv4: true,
            ..Config::ephemeral().with_engines()
        })
        .await
        .unwrap();
        let config = aws_sdk_memorydb::Config::builder()
            .behavior_version(aws_sdk_memorydb::config::BehaviorVersion::latest())
            .region(aws_sdk_memorydb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_memorydb::config::Credentials::new(
                KEY, SECRET, None, None, "t",
            ))
            .endpoint_url(server.url())
            .build();
        let client = aws_sdk_memorydb::Client::from_conf(config);
        client
            .create_user()
            .user_name("iam-app")
            .access_string("on ~* +@all")
            .authentication_mode(
                AuthenticationMode::builder()
                    .r#type(InputAuthenticationType::Iam)
                    .build(),
            )
            .send()
            .await
            .unwrap();
        let port = acl_with_cluster(&server.url(), &client, "iam-team", "iam-app", "orders").await;
        let now = SystemTime::now();

        // A valid token logs in, and the user's access string applies.
        let good = token("orders", "iam-app", SECRET, now);
        assert!(
            good.starts_with("orders/?Action=connect&User=iam-app&X-Amz-Algorithm="),
            "{good}"
        );
        assert_eq!(
            run_with_token(port, "iam-app", &good, &["PING"]).unwrap(),
            "PONG"
        );

        // Refused: expired, forged (another secret), for another user or cluster, or
        // no token at all.
        let refused = |result: Result<String, String>| matches!(result, Err(e) if e.contains("AuthenticationFailed") || e.to_uppercase().contains("WRONGPASS"));
        let expired = token("orders", "iam-app", SECRET, now - Duration::from_mins(16));
        assert!(refused(run_with_token(
            port,
            "iam-app",
            &expired,
            &["PING"]
        )));
        let forged = token("orders", "iam-app", "not-the-secret", now);
        assert!(refused(run_with_token(port, "iam-app", &forged, &["PING"])));
        let other_user = token("orders", "someone-else", SECRET, now);
        assert!(refused(run_with_token(
            port,
            "iam-app",
            &other_user,
            &["PING"]
        )));
        let other_cluster = token("billing", "iam-app", SECRET, now);
        assert!(refused(run_with_token(
            port,
            "iam-app",
            &other_cluster,
            &["PING"]
        )));
        assert!(refused(run_with_token(
            port,
            "iam-app",
            "a-guessed-password",
            &["PING"]
        )));

        hello_is_checked_too(port, &good, &forged);
        server.shutdown().await.unwrap();
    }
}

/// The `redis` crate's cluster client, over rustls with memshift's CA, on a 3-shard cluster
/// with replicas: it discovers the nodes, keys land on every shard, and each reads back.
#[tokio::test(flavor = "multi_thread")]
async fn the_rust_cluster_client_works_over_tls() {
    if !redis_available() {
        return;
    }
    let _ = rustls::crypto::ring::default_provider().install_default();
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = memorydb(&server);
    create_password_user(
        &client,
        "rust-app",
        "rust-app-password-01",
        "on ~* &* +@all",
    )
    .await;
    client
        .create_acl()
        .acl_name("rust-team")
        .user_names("rust-app")
        .send()
        .await
        .unwrap();
    let out = client
        .create_cluster()
        .cluster_name("rust-shop")
        .node_type("db.t4g.small")
        .acl_name("rust-team")
        .num_shards(3)
        .num_replicas_per_shard(1)
        .send()
        .await
        .unwrap();
    let endpoint = out.cluster().unwrap().cluster_endpoint().unwrap();
    let port = endpoint.port();
    let ca = reqwest::get(format!("{}/_memshift/ca.pem", server.url()))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap()
        .to_vec();
    let cluster = redis::cluster::ClusterClientBuilder::new(vec![format!(
        "rediss://rust-app:rust-app-password-01@127.0.0.1:{port}/"
    )])
    .certs(redis::TlsCertificates {
        client_tls: None,
        root_cert: Some(ca),
    })
    .build()
    .unwrap();
    let mut conn = cluster.get_async_connection().await.unwrap();
    for i in 0..200 {
        let _: () = redis::cmd("SET")
            .arg(format!("key:{i}"))
            .arg(i)
            .query_async(&mut conn)
            .await
            .unwrap();
    }
    for i in 0..200 {
        let value: i64 = redis::cmd("GET")
            .arg(format!("key:{i}"))
            .query_async(&mut conn)
            .await
            .unwrap();
        assert_eq!(value, i);
    }
    // Every primary holds some of the keys: asked through each node's own endpoint.
    let described = client
        .describe_clusters()
        .cluster_name("rust-shop")
        .show_shard_details(true)
        .send()
        .await
        .unwrap();
    trust(&server.url(), u16::try_from(port).unwrap()).await;
    let shards = described.clusters()[0].shards();
    assert_eq!(shards.len(), 3);
    for shard in shards {
        let primary = &shard.nodes()[0];
        let node_port = u16::try_from(primary.endpoint().unwrap().port()).unwrap();
        trust(&server.url(), node_port).await;
        let size = run(
            node_port,
            Some(("rust-app", "rust-app-password-01")),
            &["DBSIZE"],
        )
        .unwrap();
        let keys: i64 = size
            .strip_prefix("int(")
            .and_then(|s| s.strip_suffix(')'))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("DBSIZE answered {size}"));
        assert!(
            keys > 0,
            "{} holds no key",
            primary.name().unwrap_or_default()
        );
    }
    server.shutdown().await.unwrap();
}

/// The redis-server processes of a cluster started by this test process.
fn servers_of(cluster: &str) -> Vec<u32> {
    let temporary = std::env::temp_dir().join(format!("memshift-redis-{}-", std::process::id()));
    servers_within(&temporary, &format!("/clusters/{cluster}/"))
}

/// The processes whose working directory's path starts with `prefix` and holds `within`.
fn servers_within(prefix: &std::path::Path, within: &str) -> Vec<u32> {
    let prefix = prefix.display().to_string();
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| {
            let pid: u32 = e.file_name().to_str()?.parse().ok()?;
            let cwd = std::fs::read_link(e.path().join("cwd")).ok()?;
            let cwd = cwd.display().to_string();
            (cwd.starts_with(&prefix) && cwd.contains(within)).then_some(pid)
        })
        .collect()
}

/// A Redis server killed under its cluster: the cluster is formed again, with its users,
/// without a call to the API.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_that_loses_a_server_is_formed_again() {
    if !redis_available() {
        return;
    }
    let server = memshift::start(&Config::ephemeral().with_engines())
        .await
        .unwrap();
    let client = memorydb(&server);
    create_password_user(&client, "keeper", "keeper-password-001", "on ~* +@all").await;
    let port = acl_with_cluster(&server.url(), &client, "keep", "keeper", "phoenix").await;
    let login = Some(("keeper", "keeper-password-001"));
    assert_eq!(run(port, login, &["PING"]).unwrap(), "PONG");
    let before = servers_of("phoenix");
    assert!(!before.is_empty());
    std::process::Command::new("kill")
        .args(["-KILL", &before[0].to_string()])
        .status()
        .unwrap();
    let killed = std::time::Instant::now();
    loop {
        let after = servers_of("phoenix");
        if !after.is_empty()
            && !after.contains(&before[0])
            && run(port, login, &["SET", "k", "v"]).is_ok_and(|r| r == "OK")
        {
            break;
        }
        assert!(
            killed.elapsed() < std::time::Duration::from_secs(10),
            "the cluster was not formed again"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    eprintln!(
        "a redis cluster that lost its server answers again after {} ms",
        killed.elapsed().as_millis()
    );
    server.shutdown().await.unwrap();
}

/// The redis-server processes of a memshift with the data directory `data` that wait,
/// formed ahead, for the next cluster of their shape.
fn servers_formed_ahead(data: &std::path::Path) -> Vec<u32> {
    servers_within(data, "/.ahead/")
}

/// Writes `value` under 50 keys through the cluster endpoint on `port` (`write`), or
/// checks that they hold it.
async fn owners(port: u16, value: &str, write: bool) {
    let cluster =
        redis::cluster::ClusterClient::new(vec![format!("redis://127.0.0.1:{port}/")]).unwrap();
    let mut conn = cluster.get_async_connection().await.unwrap();
    for i in 0..50 {
        let key = format!("owner:{i}");
        if write {
            let _: () = redis::cmd("SET")
                .arg(&key)
                .arg(value)
                .query_async(&mut conn)
                .await
                .unwrap();
        } else {
            let owner: String = redis::cmd("GET")
                .arg(&key)
                .query_async(&mut conn)
                .await
                .unwrap();
            assert_eq!(owner, value);
        }
    }
}

/// Waits (up to 60 s) until memshift's health says a cluster with shards of `nodes` is
/// formed ahead.
async fn wait_formed_ahead(url: &str, nodes: &[usize]) {
    let mut health = serde_json::Value::Null;
    for _ in 0..600 {
        health = reqwest::get(format!("{url}/_memshift/health"))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if health["formed_ahead"]["memorydb_nodes_per_shard"] == serde_json::json!(nodes) {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("no cluster of {nodes:?} was formed ahead: {health}");
}

/// What `/_memshift/health` says is formed ahead (`formed`) or being formed.
async fn ahead_state(url: &str, formed: bool) -> serde_json::Value {
    let health: serde_json::Value = reqwest::get(format!("{url}/_memshift/health"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let key = if formed {
        "formed_ahead"
    } else {
        "forming_ahead"
    };
    health[key]["memorydb_nodes_per_shard"].clone()
}

/// Waits (up to 60 s) until `cluster` is available; answers its node endpoint ports.
async fn available_node_ports(client: &Client, cluster: &str) -> Vec<u16> {
    for _ in 0..600 {
        let endpoints = common::redis_nodes::endpoints(client, cluster)
            .await
            .unwrap();
        if endpoints.status == "available" {
            return endpoints.ports()[1..].to_vec();
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("{cluster} is not available");
}

/// A memshift with engines and a data directory of its own, by which its servers are
/// told apart from other tests'; the directory goes with the first value.
async fn with_data_dir_of_its_own(
    tag: &str,
    servers_ahead: bool,
) -> (tempfile::TempDir, std::path::PathBuf, memshift::Server) {
    let _ = tracing_subscriber::fmt().with_test_writer().try_init();
    let dir = common::temp_dir(tag);
    let data = dir.path().join("data");
    let mut config = Config {
        data_dir: Some(data.clone()),
        ..Config::ephemeral().with_engines()
    };
    config.services.servers_ahead = servers_ahead;
    let server = memshift::start(&config).await.unwrap();
    (dir, data, server)
}

/// CreateCluster without TLS, open to the `default` user.
async fn create_plain(client: &Client, name: &str, shards: i32, replicas: i32) {
    common::redis_nodes::create_cluster(client, name, (shards, replicas), false, "open-access")
        .await;
}

/// Once a cluster is made, another of its shape is formed in the background; the next
/// CreateCluster of that shape takes it, on the ports that call reported, and is a
/// cluster of its own: its nodes know only each other and announce their own endpoints,
/// and its keys are its own. A cluster of another shape still forms (from spares), and
/// what was formed ahead changes shape with it; nothing outlives memshift.
#[tokio::test(flavor = "multi_thread")]
async fn clusters_of_one_shape_are_formed_ahead_and_stay_apart() {
    if !redis_available() {
        return;
    }
    let (_dir, data, server) = with_data_dir_of_its_own("redis-ahead", true).await;
    let client = memorydb(&server);
    let create = |name, shards, replicas| create_plain(&client, name, shards, replicas);
    create("first", 2, 1).await;
    let first = available_node_ports(&client, "first").await;
    assert_eq!(first.len(), 4);
    wait_formed_ahead(&server.url(), &[2, 2]).await;
    let mut ahead = servers_formed_ahead(&data);
    assert_eq!(ahead.len(), 4);

    create("second", 2, 1).await;
    let second = available_node_ports(&client, "second").await;
    let mut taken = servers_within(&data, "/clusters/second/");
    taken.sort_unstable();
    ahead.sort_unstable();
    assert_eq!(
        taken, ahead,
        "the second cluster runs on the servers formed ahead"
    );
    assert!(first.iter().all(|p| !second.contains(p)));
    for port in &second {
        let nodes = run(*port, None, &["CLUSTER", "NODES"]).unwrap();
        let mut announced: Vec<u16> = nodes
            .lines()
            .map(|line| {
                let address = line.split(' ').nth(1).unwrap();
                let port = address.split(['@', ',']).next().unwrap();
                port.rsplit(':').next().unwrap().parse().unwrap()
            })
            .collect();
        announced.sort_unstable();
        let mut expected = second.clone();
        expected.sort_unstable();
        assert_eq!(announced, expected, "{nodes}");
        assert_eq!(nodes.lines().filter(|l| l.contains("slave")).count(), 2);
    }
    for write in [true, false] {
        owners(first[0], "first", write).await;
        owners(second[0], "second", write).await;
    }

    // Another shape: formed all the same, and what waits ahead follows it.
    create("third", 1, 0).await;
    let third = available_node_ports(&client, "third").await;
    assert_eq!(run(third[0], None, &["PING"]).unwrap(), "PONG");
    wait_formed_ahead(&server.url(), &[1]).await;
    assert_eq!(servers_formed_ahead(&data).len(), 1);
    server.shutdown().await.unwrap();
    assert!(servers_within(&data, "/").is_empty());
}

/// Makes 2×1 clusters until the one being formed ahead after them is caught under way
/// (its four servers running in `.ahead`, nothing formed yet), then at once CreateCluster
/// `name` of `shards` × (1 + `replicas`); answers the servers that were forming. A
/// formation that ends before it is caught is let be, and the next one tried.
async fn create_while_a_2x1_forms(
    server: &memshift::Server,
    client: &Client,
    data: &std::path::Path,
    name: &str,
    (shards, replicas): (i32, i32),
) -> Vec<u32> {
    let shape = serde_json::json!([2, 2]);
    for attempt in 0..5 {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut forming = Vec::new();
        while std::time::Instant::now() < deadline {
            if ahead_state(&server.url(), false).await == shape {
                forming = servers_formed_ahead(data);
                if forming.len() == 4 && ahead_state(&server.url(), false).await == shape {
                    break;
                }
            }
            forming.clear();
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
        if forming.len() == 4 && ahead_state(&server.url(), true).await.is_null() {
            create_plain(client, name, shards, replicas).await;
            forming.sort_unstable();
            return forming;
        }
        wait_formed_ahead(&server.url(), &[2, 2]).await;
        create_plain(client, &format!("{name}-{attempt}"), 2, 1).await;
    }
    panic!("no cluster was caught forming ahead");
}

/// A CreateCluster that comes while a cluster of its shape is still being formed ahead
/// is given that cluster's ports and waits for it, rather than forming one of its own.
/// One of another shape with as many nodes is given them too: the formation is stopped,
/// its servers and directory go, and the cluster forms on those ports from others.
#[tokio::test(flavor = "multi_thread")]
async fn a_cluster_asked_for_while_its_like_forms_ahead_takes_it() {
    if !redis_available() {
        return;
    }
    let (_dir, data, server) = with_data_dir_of_its_own("redis-forming", true).await;
    let client = memorydb(&server);
    create_plain(&client, "seed", 2, 1).await;
    let name = "taker";
    let forming = create_while_a_2x1_forms(&server, &client, &data, name, (2, 1)).await;
    let ports = available_node_ports(&client, name).await;
    let mut taken = servers_within(&data, &format!("/clusters/{name}/"));
    taken.sort_unstable();
    assert_eq!(
        taken, forming,
        "the cluster runs on the servers that were forming ahead"
    );
    for port in &ports {
        let nodes = run(*port, None, &["CLUSTER", "NODES"]).unwrap();
        assert_eq!(nodes.lines().count(), 4, "{nodes}");
        assert_eq!(nodes.lines().filter(|l| l.contains("slave")).count(), 2);
        let failing = |line: &str| {
            let flags = line.split(' ').nth(2).unwrap_or_default();
            flags.split(',').any(|f| f == "fail" || f == "fail?")
        };
        assert!(!nodes.lines().any(failing), "{nodes}");
    }
    owners(ports[0], name, true).await;
    owners(ports[0], name, false).await;

    // Four shards without replicas: as many nodes, another shape.
    let stopped = create_while_a_2x1_forms(&server, &client, &data, "flat", (4, 0)).await;
    let ports = available_node_ports(&client, "flat").await;
    assert_eq!(ports.len(), 4);
    let nodes = run(ports[0], None, &["CLUSTER", "NODES"]).unwrap();
    assert_eq!(nodes.lines().filter(|l| l.contains("master")).count(), 4);
    owners(ports[0], "flat", true).await;
    owners(ports[0], "flat", false).await;
    let running = servers_within(&data, "/");
    assert!(
        stopped.iter().all(|pid| !running.contains(pid)),
        "a formation that did not fit was stopped"
    );
    // What remains under `.ahead` is at most the formation for the new shape.
    let formations =
        std::fs::read_dir(data.join("redis").join(".ahead")).map_or(0, Iterator::count);
    assert!(formations <= 1, "{formations} formations' directories");
    server.shutdown().await.unwrap();
    assert!(servers_within(&data, "/").is_empty());
}

/// With `servers_ahead` off, clusters still form and serve, and nothing runs that no
/// cluster uses: no spare server, no cluster formed ahead.
#[tokio::test(flavor = "multi_thread")]
async fn without_servers_ahead_only_clusters_run() {
    if !redis_available() {
        return;
    }
    let (_dir, data, server) = with_data_dir_of_its_own("redis-no-ahead", false).await;
    let client = memorydb(&server);
    for name in ["one", "two"] {
        create_plain(&client, name, 2, 1).await;
        let ports = available_node_ports(&client, name).await;
        assert_eq!(run(ports[0], None, &["PING"]).unwrap(), "PONG");
        owners(ports[0], name, true).await;
        owners(ports[0], name, false).await;
    }
    // Spares and a cluster formed ahead would be starting by now (the supervisor looks
    // every 200 ms).
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(servers_within(&data, "/.pool/"), Vec::<u32>::new());
    assert_eq!(servers_formed_ahead(&data), Vec::<u32>::new());
    assert!(ahead_state(&server.url(), true).await.is_null());
    assert!(ahead_state(&server.url(), false).await.is_null());
    assert_eq!(servers_within(&data, "/clusters/").len(), 8);
    server.shutdown().await.unwrap();
    assert!(servers_within(&data, "/").is_empty());
}
